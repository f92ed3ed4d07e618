"""Model checks: findings, translation/units/structure/diagram/documentation checks,
behaviour under extreme conditions and Vensim reality checks.
"""
