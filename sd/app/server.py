"""The policy simulator's web server: a static page and a small JSON API, on loopback.

Built on Tornado (already installed with Dask's distributed scheduler, which serves its
own dashboard with it): a mature asynchronous server whose handlers are plain classes,
so the page needs no framework of its own. The charts are drawn in the browser by
Plotly.js, served from the ``plotly`` package's own copy (nothing is fetched from the
network). Requests carry JSON settings that :class:`~sd.app.session.AppSession` checks
field by field; nothing from the page is evaluated. Bad requests get status 400 with a
message, and the server keeps serving.

Routes: ``GET /`` the page; ``GET /api/config?lang=en|ru``; ``POST /api/run``,
``/api/band``, ``/api/save``, ``/api/csv`` with the settings as a JSON body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from sd.app.session import AppInputError, AppSession, floats
from sd.errors import SDError

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024  #: bytes of settings a request may carry (they are a few hundred)
#: bytes past which Tornado drops the connection without reading the body
MAX_REQUEST = 1024 * 1024


def plotly_js() -> Path:
    """The Plotly.js bundle shipped inside the ``plotly`` Python package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise SDError(
            f"the plotly package has no {path.name}; reinstall it with `pip install plotly`."
        )
    return path


class _Base(tornado.web.RequestHandler):
    def initialize(self, session: AppSession, executor: ThreadPoolExecutor) -> None:
        self.session = session
        self.executor = executor

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def body(self) -> Any:
        if len(self.request.body) > MAX_BODY:
            raise AppInputError(f"the request is over {MAX_BODY // 1024} KiB; send only settings.")
        try:
            return json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise AppInputError("the request body is not JSON.") from None

    def reply(self, payload: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(payload, ensure_ascii=False, allow_nan=False))

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.reply({"error": message})

    async def compute(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = str(exc) if isinstance(exc, SDError) else self._reason
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": message}))


class PageHandler(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish((STATIC / "index.html").read_bytes())


class ConfigHandler(_Base):
    def get(self) -> None:
        try:
            self.reply(self.session.config(self.get_query_argument("lang", "en")))
        except AppInputError as err:
            self.fail(400, str(err))


class RunHandler(_Base):
    async def post(self) -> None:
        try:
            settings = self.session.settings(self.body())
            started = time.perf_counter()
            values = await self.compute(self.session.run, settings)
            payload = {
                "times": floats(self.session.times),
                "series": {v: floats(values[v]) for v in self.session.variables},
                "base": {v: floats(self.session.base_values[v]) for v in self.session.variables},
                "indicators": await self.compute(self.session.indicators, values),
            }
            payload["ms"] = round((time.perf_counter() - started) * 1000, 1)
        except AppInputError as err:
            return self.fail(400, str(err))
        except SDError as err:  # the model cannot run these settings
            return self.fail(422, str(err))
        self.reply(payload)


class BandHandler(_Base):
    async def post(self) -> None:
        try:
            settings = self.session.settings(self.body())
            started = time.perf_counter()
            bands = await self.compute(self.session.band, settings)
        except AppInputError as err:
            return self.fail(400, str(err))
        except SDError as err:
            return self.fail(422, str(err))
        self.reply({"bands": bands, "ms": round((time.perf_counter() - started) * 1000, 1)})


class SaveHandler(_Base):
    async def post(self) -> None:
        try:
            raw = self.body()
            settings = self.session.settings(raw)
            name, label = raw.get("name"), raw.get("label", "")
            if not isinstance(label, str) or len(label) > 200:
                raise AppInputError("the label must be text of at most 200 characters.")
            path = await self.compute(self.session.save_study, settings, name, label)
        except AppInputError as err:
            return self.fail(400, str(err))
        except SDError as err:
            return self.fail(422, str(err))
        self.reply({"file": path.name, "scenario": name, "command": f"sd forecast {path.name}"})


class CsvHandler(_Base):
    async def post(self) -> None:
        try:
            settings = self.session.settings(self.body())
            values = await self.compute(self.session.run, settings)
        except AppInputError as err:
            return self.fail(400, str(err))
        except SDError as err:
            return self.fail(422, str(err))
        table = self.session.table(values)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="simulation.csv"')
        self.finish(table.reset_index().to_csv(index=False, float_format="%.10g"))


def application(session: AppSession) -> tornado.web.Application:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sd-app")  # one run at once
    args = {"session": session, "executor": executor}
    return tornado.web.Application(
        [
            (r"/", PageHandler, args),
            (r"/api/config", ConfigHandler, args),
            (r"/api/run", RunHandler, args),
            (r"/api/band", BandHandler, args),
            (r"/api/save", SaveHandler, args),
            (r"/api/csv", CsvHandler, args),
            (r"/static/(app\.js|app\.css)", tornado.web.StaticFileHandler, {"path": STATIC}),
            (
                r"/vendor/(plotly\.min\.js)",
                tornado.web.StaticFileHandler,
                {"path": str(plotly_js().parent)},
            ),
        ],
        xsrf_cookies=False,
        compress_response=True,
    )


def check_host(host: str) -> bool:
    """True for a loopback address or name; the simulator listens there by default."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """The simulator served from a background thread (for tests and benchmarks)."""

    def __init__(self, session: AppSession, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.host = host
        self._sockets = bind_sockets(port, host, family=socket.AF_INET)
        self.port = self._sockets[0].getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> Server:
        self._thread = threading.Thread(target=self._serve, name="sd-app-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        server = HTTPServer(application(self.session), max_body_size=MAX_REQUEST)
        server.add_sockets(self._sockets)
        self._ready.set()
        self._loop.run_forever()
        server.stop()
        self._loop.run_until_complete(server.close_all_connections())
        self._loop.close()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def serve(session: AppSession, host: str, port: int, *, on_ready=None) -> None:
    """Serve until Ctrl-C (the ``sd app`` command)."""
    sockets = bind_sockets(port, host, family=socket.AF_INET)

    async def main() -> None:
        server = HTTPServer(application(session), max_body_size=MAX_REQUEST)
        server.add_sockets(sockets)
        if on_ready:
            on_ready(sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
