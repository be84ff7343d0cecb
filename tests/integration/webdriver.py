"""A small W3C WebDriver client over urllib, for the page's tests: drives
Debian's chromium through Debian's chromedriver (/usr/bin/chromedriver),
headless, with a private profile, no extra Python package.

    with WebDriver(tmpdir) as wd:
        wd.get(url); wd.wait_js("return document.body.dataset.state", "app")
        wd.screenshot(path)

Every wait is bounded; the driver and the browser are stopped on exit."""
import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import chotpy as cp

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


class WebDriverError(RuntimeError):
    pass


class WebDriver:
    def __init__(self, tmp, width=1280, height=900, downloads=None):
        self.port = cp.free_port()
        self.log = open(os.path.join(tmp, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                     stdout=self.log, stderr=self.log)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.time() + 20
        while True:
            try:
                if self._call("GET", "/status", timeout=2)["ready"]:
                    break
            except (OSError, WebDriverError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--user-data-dir=" + os.path.join(tmp, "chromium-profile"),
                "--window-size=%d,%d" % (width, height)]
        opts = {"binary": CHROMIUM, "args": args}
        if downloads:
            opts["prefs"] = {"download.default_directory": downloads,
                             "download.prompt_for_download": False}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                 "goog:chromeOptions": opts,
                                                 "goog:loggingPrefs": {"browser": "ALL"}}}}
        try:
            self.sid = self._call("POST", "/session", caps, timeout=60)["sessionId"]
        except Exception:
            self.close()
            raise

    def _call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request(self.base + path, data=data, method=method,
                                    headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(rq, timeout=timeout) as f:
                out = json.load(f)
        except urllib.error.HTTPError as e:
            try:
                v = json.load(e).get("value", {})
            except ValueError:
                v = {}
            raise WebDriverError("%s %s: %s %s" % (method, path, v.get("error"),
                                                   str(v.get("message", ""))[:300]))
        return out.get("value")

    def s(self, method, path, body=None, timeout=30):
        return self._call(method, "/session/%s%s" % (self.sid, path), body, timeout)

    def get(self, url):
        self.s("POST", "/url", {"url": url}, timeout=60)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_js(self, script, pred=lambda v: bool(v), timeout=15, step=0.1):
        """Run script until pred(result) holds (a value: equality); the last result."""
        check = pred if callable(pred) else (lambda v: v == pred)
        deadline = time.time() + timeout
        v = None
        while time.time() < deadline:
            v = self.js(script)
            if check(v):
                return v
            time.sleep(step)
        raise WebDriverError("timed out after %.0f s waiting on %r (last %r)" %
                             (timeout, script[:120], v))

    def find(self, css):
        v = self.s("POST", "/element", {"using": "css selector", "value": css})
        return list(v.values())[0]

    def type(self, css, text):
        e = self.find(css)
        self.s("POST", "/element/%s/clear" % e, {})
        self.s("POST", "/element/%s/value" % e, {"text": text})

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot", timeout=60))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return path

    def browser_log(self):
        try:
            return self.s("POST", "/se/log", {"type": "browser"}) or []
        except WebDriverError:
            return []

    def close(self):
        try:
            if getattr(self, "sid", None):
                self.s("DELETE", "", timeout=20)
        except (OSError, WebDriverError):
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
