"""A real browser's CORS preflight: headless Chromium loads a page from another origin whose script sends a
cross-origin PUT with an Authorization header (so the browser must ask first) to the local HTTP API; the fetch
succeeds only for the origin the API allows."""

import http.server
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.stack  # slow end to end: a headless Chromium

HANDLER = """
import json
def lambda_handler(event, context):
    return {'statusCode': 200, 'body': json.dumps({'method': event['requestContext']['http']['method']})}
"""
PAGE = """<!doctype html><html><body><script>
fetch(%s, {method: "PUT", headers: {"Authorization": "Bearer abc", "Content-Type": "application/json"}, body: "{}"})
  .then(r => r.text()).then(t => { document.body.dataset.result = "ok " + t; })
  .catch(e => { document.body.dataset.result = "blocked " + e.name; });
</script></body></html>"""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def _page_server(pages: dict[str, str]) -> Iterator[str]:
    """Serves `pages` (path -> HTML, read at each request) on a free loopback port; yields the origin."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _browse(url: str) -> str:
    """The page's data-result after headless Chromium ran its script."""
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",  # CI containers run as root
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    start = dom.find('data-result="')
    return dom[start + 13 : dom.find('"', start + 13)] if start >= 0 else ""


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium; .ci/run installs it)")
def test_a_browser_fetch_succeeds_only_from_the_allowed_origin(embedded, deploy_function) -> None:
    gateway = embedded.client("apigatewayv2")
    function = deploy_function(HANDLER)
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function['FunctionArn']}/invocations"
    pages: dict[str, str] = {}
    with _page_server(pages) as origin:
        for name, allowed_origin in (("allowed", origin), ("other", "http://127.0.0.1:1")):
            api_id = gateway.create_api(
                Name=f"http-browser-{name}",
                ProtocolType="HTTP",
                CorsConfiguration={
                    "AllowOrigins": [allowed_origin],
                    "AllowMethods": ["PUT"],
                    "AllowHeaders": ["authorization", "content-type"],
                },
            )["ApiId"]
            integration = gateway.create_integration(
                ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0"
            )["IntegrationId"]
            gateway.create_route(ApiId=api_id, RouteKey="PUT /thing", Target=f"integrations/{integration}")
            gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
            pages[f"/{name}"] = PAGE % json.dumps(f"{embedded.url}/_api/{api_id}/thing")
        assert _browse(f"{origin}/allowed") == "ok {&quot;method&quot;: &quot;PUT&quot;}"
        assert _browse(f"{origin}/other") == "blocked TypeError"
