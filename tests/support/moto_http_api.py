"""moto_server for fnctl's HTTP API tests, plus a router that serves the HTTP
APIs (API Gateway v2) fnctl deploys into it.

Run as ``python moto_http_api.py -H 127.0.0.1 -p PORT``: the arguments, the
server and every AWS endpoint are moto's own (``moto.server.main``); two
things are added.

1. GetAuthorizers. moto 5.2.5 answers 500 "not implemented" when an API's
   authorizers are listed, and fnctl's read needs that call. The added
   operation lists what moto already stores, in the shape its GetAuthorizer
   gives one authorizer.

2. A router for HTTP API requests, so tests can send a real HTTP request
   through a deployed API without a cloud:

       http://127.0.0.1:PORT/_http_api/{api-id}/{stage}/{path}?{query}

   It reads what fnctl's deploy stored in moto (the API and its
   CorsConfiguration, routes, integrations, authorizers and stages; the
   functions' code in moto's Lambda backend) and answers as API Gateway's
   HTTP API does:

   - the stage: ``{stage}`` names one of the API's stages, else the request
     goes to the ``$default`` stage (its path then starts at ``{stage}``),
     else 404 ``{"message":"Not Found"}``;
   - CORS ("Configure CORS for HTTP APIs",
     https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
     with a CorsConfiguration, an OPTIONS request carrying ``Origin`` and
     ``Access-Control-Request-Method`` is a preflight the gateway answers
     itself (204, for any path), with the configured headers when the origin
     is allowed and none otherwise; every other response drops the
     backend's ``Access-Control-*`` headers and, for an allowed origin,
     gets Allow-Origin, Expose-Headers and Allow-Credentials from the
     configuration;
   - the route ("Create routes for HTTP APIs"): the request's method or
     ``ANY``, literal segments before ``{param}`` ones, any such route
     before a greedy ``{proxy+}`` (the longest prefix first), a specific
     method before ``ANY``, then ``$default``; none: 404
     ``{"message":"Not Found"}``;
   - JWT authorizers ("Control access to HTTP APIs with JWT authorizers"):
     the token from the identity source header (``Bearer`` optional), its
     signature by the key its ``kid`` names in the issuer's JWKS (through
     ``{issuer}/.well-known/openid-configuration`` -> ``jwks_uri``, fetched
     per request; checked by joserfc, RSA algorithms as API Gateway
     supports), ``iss``, ``aud`` (or ``client_id`` without ``aud``), ``exp``,
     ``nbf``, ``iat``: 401 ``{"message":"Unauthorized"}``; a valid token
     with none of the route's AuthorizationScopes: 403
     ``{"message":"Forbidden"}``;
   - the integration (AWS_PROXY, payload format 2.0): the event has the
     fields ``to_event_v2`` in src/local/http.rs writes (with
     ``requestContext.authorizer.jwt`` on JWT routes); the function the
     integration URI names (alias or version included) runs from the zip
     moto stores: unpacked into a temporary directory, its Python handler
     (``module.func``, ``/`` in the module path allowed) is called in a
     ``python3`` subprocess with the event on stdin and the result written
     to a temporary file, so what the handler prints cannot corrupt it;
   - the response by the 2.0 rules (``from_payload_v2`` in
     src/local/http.rs): statusCode, headers, cookies (each a Set-Cookie),
     body, isBase64Encoded; any other JSON result is a 200
     ``application/json`` body; a failed or unreadable invocation is 500
     ``{"message":"Internal Server Error"}``, one over the integration's
     timeout 503 ``{"message":"Service Unavailable"}``.

   Not covered: other integration types, Lambda authorizers, IAM
   authorization, mutual TLS, custom domains and API mappings, request or
   response parameter mappings, throttling, the function's invoke
   permission, runtimes other than Python, layers, and the Lambda
   environment beyond the function's variables and a handful of AWS_*
   names. The router never leaves the machine: it fetches keys only from
   loopback issuers (any other issuer is unreachable: 401) and ignores
   proxy settings.

moto internals read here (backend attributes, not its API): moto's Lambda
backend (``moto.awslambda.utils.get_backend``: the "simple" one the tests
configure, ``use_docker: false``, or the Docker one) and apigatewayv2 backend, their ``apis``/``routes``/``integrations``/
``authorizers``/``stages`` dictionaries and ``code_bytes``; .ci/run pins
``moto[server]==5.2.5`` for them.
"""

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
import uuid
import zipfile
from datetime import datetime, timezone

import moto.server
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.apigatewayv2.responses import ApiGatewayV2Response
from moto.awslambda.utils import get_backend as lambda_backend
from werkzeug.wrappers import Request, Response


def get_authorizers(self):
    """GetAuthorizers, which moto 5.2.5 lacks (see the module's comment)."""
    api_id = self.path.split("/")[-2]
    api = self.apigatewayv2_backend.get_api(api_id)
    items = [a.to_json() for a in api.authorizers.values()]
    return 200, {}, json.dumps({"items": items})


ApiGatewayV2Response.get_authorizers = get_authorizers

PREFIX = "/_http_api/"
JWT_ALGORITHMS = ["RS256", "RS384", "RS512"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

# No proxy, whatever the environment says: every fetch is to loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def message(status, text, headers=None):
    """A gateway's own answer: JSON ``{"message": ...}``."""
    return status, [("content-type", "application/json")] + (headers or []), json.dumps(
        {"message": text}, separators=(",", ":")
    ).encode()


def not_found():
    return message(404, "Not Found")


def internal_error():
    return message(500, "Internal Server Error")


# --- finding what fnctl deployed -------------------------------------------


def find_api(api_id):
    """(account, region, Api) for an API id, from every backend moto holds."""
    for account_id, regions in list(apigatewayv2_backends.items()):
        for region, backend in list(regions.items()):
            api = backend.apis.get(api_id)
            if api is not None:
                return account_id, region, api
    return None


def segments(path):
    return [s for s in path.split("/") if s != ""]


def match_template(template, path_segments):
    """Path parameters when ``template`` matches, else None."""
    tpl = segments(template)
    params = {}
    for i, part in enumerate(tpl):
        if part.startswith("{") and part.endswith("+}"):
            rest = path_segments[i:]
            if not rest:
                return None
            params[part[1:-2]] = urllib.parse.unquote("/".join(rest))
            return params
        if i >= len(path_segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = urllib.parse.unquote(path_segments[i])
        elif part != path_segments[i]:
            return None
    return params if len(tpl) == len(path_segments) else None


def select_route(api, method, path):
    """(route, path parameters) by an HTTP API's precedence, or None."""
    path_segments = segments(path)
    best = None
    default = None
    for route in api.routes.values():
        if route.route_key == "$default":
            default = route
            continue
        route_method, _, template = route.route_key.partition(" ")
        if route_method not in (method, "ANY"):
            continue
        params = match_template(template, path_segments)
        if params is None:
            continue
        tpl = segments(template)
        greedy = bool(tpl) and tpl[-1].endswith("+}")
        # Non-greedy before greedy; then literal segments before parameters,
        # left to right (greedy: the longer prefix); then a method over ANY.
        shape = len(tpl) if greedy else tuple(0 if p.startswith("{") else 1 for p in tpl)
        rank = (not greedy, shape, route_method != "ANY")
        if best is None or rank > best[0]:
            best = (rank, route, params)
    if best is not None:
        return best[1], best[2]
    if default is not None:
        return default, {}
    return None


# --- CORS -------------------------------------------------------------------


def cors_value(cors, key):
    return cors.get(key) if cors else None


def allowed_origin(cors, origin):
    """The Access-Control-Allow-Origin value for ``origin``, or None."""
    if not origin:
        return None
    origins = cors_value(cors, "allowOrigins") or []
    if "*" in origins:
        return "*"
    if any(o.lower() == origin.lower() for o in origins):
        return origin
    return None


def preflight_headers(cors, origin):
    allow = allowed_origin(cors, origin)
    if allow is None:
        return []
    out = [("access-control-allow-origin", allow)]
    for key, header in (
        ("allowMethods", "access-control-allow-methods"),
        ("allowHeaders", "access-control-allow-headers"),
    ):
        values = cors_value(cors, key)
        if values:
            out.append((header, ",".join(values)))
    if cors_value(cors, "maxAge") is not None:
        out.append(("access-control-max-age", str(cors["maxAge"])))
    if cors_value(cors, "allowCredentials"):
        out.append(("access-control-allow-credentials", "true"))
    return out


def with_cors(cors, origin, headers):
    """A response's headers under the API's CORS configuration."""
    if not cors:
        return headers
    out = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
    allow = allowed_origin(cors, origin)
    if allow is None:
        return out
    out.append(("access-control-allow-origin", allow))
    if cors_value(cors, "exposeHeaders"):
        out.append(("access-control-expose-headers", ",".join(cors["exposeHeaders"])))
    if cors_value(cors, "allowCredentials"):
        out.append(("access-control-allow-credentials", "true"))
    return out


# --- JWT --------------------------------------------------------------------


class Denied(Exception):
    def __init__(self, status, why):
        super().__init__(why)
        self.status = status
        self.why = why

    def answer(self):
        text, error = (
            ("Unauthorized", "invalid_token")
            if self.status == 401
            else ("Forbidden", "insufficient_scope")
        )
        why = self.why.replace('"', "'")
        challenge = f'Bearer scope="" error="{error}" error_description="{why}"'
        return message(self.status, text, [("www-authenticate", challenge)])


def fetch_json(url):
    host = urllib.parse.urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise Denied(401, f"{url} is not on loopback; this router stays offline")
    with _OPENER.open(url, timeout=10) as r:
        return json.load(r)


def issuer_keys(issuer):
    try:
        config = fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        return KeySet.import_key_set(fetch_json(config["jwks_uri"]))
    except Denied:
        raise
    except Exception as e:  # unreachable, not JSON, not a JWKS
        raise Denied(401, f"the issuer's keys could not be read ({e})")


def claim_string(value):
    """A claim as API Gateway hands it to the handler (src/local/jwt.rs)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(claim_string(v) for v in value) + "]"
    return json.dumps(value)


def token_scopes(claims):
    scope, scp = claims.get("scope"), claims.get("scp")
    if isinstance(scope, str):
        return scope.split()
    if isinstance(scp, list):
        return [s for s in scp if isinstance(s, str)]
    if isinstance(scp, str):
        return scp.split()
    return []


def authorize(authorizer, route, headers):
    """The ``jwt`` context of a request the authorizer accepts; else Denied."""
    source = (authorizer.identity_source or ["$request.header.Authorization"])[0]
    header = source.rpartition(".")[2].lower()
    raw = headers.get(header, "").strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    if not raw:
        raise Denied(401, "no token")
    config = authorizer.jwt_config or {}
    issuer = config.get("issuer", "")
    audience = config.get("audience") or []
    try:
        claims = jose_jwt.decode(raw, issuer_keys(issuer), algorithms=JWT_ALGORITHMS).claims
    except Denied:
        raise
    except Exception as e:
        raise Denied(401, f"the token does not verify ({type(e).__name__})")
    if claims.get("iss") != issuer:
        raise Denied(401, "the token's issuer is not the authorizer's")
    aud = claims["aud"] if "aud" in claims else claims.get("client_id")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(a in audience for a in auds):
        raise Denied(401, "the token's audience is not the authorizer's")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= now:
        raise Denied(401, "the token has expired")
    for name in ("nbf", "iat"):
        t = claims.get(name)
        if isinstance(t, (int, float)) and t > now:
            raise Denied(401, f"the token is not valid yet ({name})")
    scopes = token_scopes(claims)
    required = route.authorization_scopes or []
    if required and not any(s in scopes for s in required):
        raise Denied(403, "the token has none of the route's scopes")
    return {
        "claims": {k: claim_string(v) for k, v in claims.items()},
        "scopes": scopes or None,
    }


# --- the event, the invocation, the response --------------------------------


def is_text(content_type):
    if content_type is None:
        return True
    ct = content_type.lower()
    return ct.startswith("text/") or any(
        t in ct for t in ("json", "xml", "x-www-form-urlencoded", "javascript")
    )


def event_v2(request, api_id, account_id, stage, path, route, params, jwt_context):
    """The payload format 2.0 event, as src/local/http.rs ``to_event_v2``."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    headers, cookies = {}, []
    for k, v in request.headers.items():
        k = k.lower()
        if k == "cookie":
            cookies += [c.strip() for c in v.split(";") if c.strip()]
        elif k in headers:
            headers[k] += "," + v
        else:
            headers[k] = v
    raw_query = request.query_string.decode("latin-1")
    query = {}
    for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        query[k] = query[k] + "," + v if k in query else v
    data = request.get_data()
    now_ms = int(time.time() * 1000)
    domain = headers.get("host", "localhost")
    context = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.route_key,
        "stage": stage,
        "time": datetime.fromtimestamp(now_ms / 1000, timezone.utc).strftime(
            "%d/%b/%Y:%H:%M:%S +0000"
        ),
        "timeEpoch": now_ms,
    }
    if jwt_context is not None:
        context["authorizer"] = {"jwt": jwt_context}
    event = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if params:
        event["pathParameters"] = params
    if data:
        text = None
        if is_text(request.headers.get("content-type")):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        if text is None:
            event["body"] = base64.b64encode(data).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


# The handler's process: the event on stdin, the result to the file named
# in argv, so nothing the handler prints can be mistaken for its result.
RUNNER = r"""
import importlib, json, sys, time
task_root, handler, result_path, name, arn, memory, deadline_ms, request_id = sys.argv[1:9]
sys.path.insert(0, task_root)

class Context:
    function_name = name
    function_version = "$LATEST"
    invoked_function_arn = arn
    memory_limit_in_mb = memory
    aws_request_id = request_id
    log_group_name = "/aws/lambda/" + name
    log_stream_name = "moto-http-api"
    def get_remaining_time_in_millis(self):
        return max(0, int(deadline_ms) - int(time.time() * 1000))

event = json.load(sys.stdin)
module, _, func = handler.rpartition(".")
result = getattr(importlib.import_module(module.replace("/", ".")), func)(event, Context())
with open(result_path, "w") as f:
    json.dump(result, f)
"""


def function_arn(integration_uri):
    """The Lambda ARN an integration URI names (bare, or the apigateway form)."""
    if ":lambda:path/" in integration_uri:
        return integration_uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0]
    return integration_uri


def say(text):
    """A line in the server's output: why a request failed, for the test's
    failure message."""
    print(f"moto_http_api: {text}", file=sys.stderr, flush=True)


def invoke(integration, event):
    """Runs the integration's function on ``event``: (ok, result bytes) or
    (None, None) when it ran over the integration's timeout."""
    arn = function_arn(integration.integration_uri or "")
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        say(f"not a Lambda integration: {integration.integration_uri}")
        return False, b""
    region, account = parts[3], parts[4]
    try:
        fn = lambda_backend(account, region).get_function(arn)
    except Exception as e:
        say(f"no function {arn}: {e}")
        return False, b""
    timeout_s = min(
        (integration.timeout_in_millis or 30000) / 1000.0, float(fn.timeout or 3)
    )
    work = tempfile.mkdtemp(prefix="moto-http-api-")
    try:
        code = os.path.join(work, "task")
        with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as z:
            z.extractall(code)
        result_path = os.path.join(work, "result.json")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "LANG": "C.UTF-8",
            **(fn.environment_vars or {}),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "LAMBDA_TASK_ROOT": code,
            "_HANDLER": fn.handler,
        }
        deadline_ms = int((time.time() + timeout_s) * 1000)
        args = [
            "python3", "-c", RUNNER, code, fn.handler, result_path, fn.function_name,
            arn, str(fn.memory_size), str(deadline_ms), event["requestContext"]["requestId"],
        ]
        try:
            done = subprocess.run(
                args,
                input=json.dumps(event).encode(),
                cwd=code,
                env=env,
                stdout=sys.stderr,
                stderr=sys.stderr,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            say(f"{arn} ran over {timeout_s} s")
            return None, None
        if done.returncode != 0 or not os.path.exists(result_path):
            say(f"{arn} failed (exit {done.returncode})")
            return False, b""
        with open(result_path, "rb") as f:
            return True, f.read()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def response_v2(payload):
    """(status, headers, body) by payload format 2.0's response rules."""
    try:
        value = json.loads(payload)
    except ValueError:
        return internal_error()
    if not (isinstance(value, dict) and "statusCode" in value):
        return 200, [("content-type", "application/json")], json.dumps(value).encode()
    try:
        status = int(value["statusCode"])
    except (TypeError, ValueError):
        return internal_error()
    if not 100 <= status <= 599:
        return internal_error()

    def text(v):
        return v if isinstance(v, str) else json.dumps(v)

    headers = [(k, text(v)) for k, v in (value.get("headers") or {}).items()]
    headers += [("set-cookie", text(c)) for c in value.get("cookies") or []]
    body = value.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str) and value.get("isBase64Encoded") is True:
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            return internal_error()
    else:
        data = text(body).encode()
    return status, headers, data


def serve(request):
    """(status, headers, body) for a request under ``PREFIX``."""
    # The path as sent (percent-encoded), as rawPath carries it and as
    # src/local/dev.rs reads it; path parameters are decoded when matched.
    raw = (request.environ.get("RAW_URI") or request.path).split("?", 1)[0]
    api_id, _, rest = raw[len(PREFIX):].partition("/")
    found = find_api(api_id)
    if found is None or found[2].protocol_type != "HTTP":
        return not_found()
    account_id, _, api = found
    stage, _, below = rest.partition("/")
    path = "/" + below
    if stage not in api.stages:
        if "$default" not in api.stages:
            return not_found()
        stage, path = "$default", "/" + rest
    cors = api.cors_configuration
    origin = request.headers.get("origin")
    if (
        cors
        and request.method == "OPTIONS"
        and origin
        and request.headers.get("access-control-request-method")
    ):
        return 204, preflight_headers(cors, origin), b""

    def answer(status, headers, body):
        return status, with_cors(cors, origin, headers), body

    selected = select_route(api, request.method, path)
    if selected is None:
        return answer(*not_found())
    route, params = selected
    jwt_context = None
    if route.authorization_type == "JWT":
        authorizer = api.authorizers.get(route.authorizer_id)
        if authorizer is None:
            return answer(*internal_error())
        try:
            jwt_context = authorize(
                authorizer, route, {k.lower(): v for k, v in request.headers.items()}
            )
        except Denied as denied:
            return answer(*denied.answer())
    integration_id = (route.target or "").rpartition("/")[2]
    integration = api.integrations.get(integration_id)
    if integration is None or integration.integration_type != "AWS_PROXY":
        return answer(*internal_error())
    event = event_v2(request, api_id, account_id, stage, path, route, params, jwt_context)
    ok, payload = invoke(integration, event)
    if ok is None:
        return answer(*message(503, "Service Unavailable"))
    if not ok:
        return answer(*internal_error())
    return answer(*response_v2(payload))


class Dispatcher(moto.server.DomainDispatcherApplication):
    """moto's application, with ``PREFIX`` served by the router."""

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            request = Request(environ)
            try:
                status, headers, body = serve(request)
            except Exception:  # a router bug: say so rather than hang
                say(traceback.format_exc())
                status, headers, body = internal_error()
            response = Response(body, status=status)
            response.headers.clear()
            for k, v in headers:
                response.headers.add(k, v)
            if status != 204:
                response.headers["content-length"] = str(len(body))
            return response(environ, start_response)
        return super().__call__(environ, start_response)


if __name__ == "__main__":
    moto.server.DomainDispatcherApplication = Dispatcher
    moto.server.main(sys.argv[1:])
