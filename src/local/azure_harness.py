"""Runs one generated Azure Functions entry the way the Python worker calls it.

Used by `fnctl invoke --local --as azure`. Arguments: the staged app
directory, the Azure function name, and a result file. The AWS-shaped event
arrives on stdin and is turned into the Azure input (an `HttpRequest` from an
API Gateway payload 1.0 or 2.0 event, a blob
`InputStream`, a `QueueMessage` from a one-record SQS event, or a
`TimerRequest` from Microsoft's azure-functions package);
the generated entry turns it back into the AWS event for the handler. The
outcome is written to the result file as JSON:
{"payload": ...} or {"error": {"errorType": ..., "errorMessage": ...}}.
"""

import base64
import datetime
import importlib.util
import json
import logging
import os
import sys
import threading
import traceback
import urllib.parse
import uuid

import azure.functions as func
# The concrete input types the worker builds (azure.functions exports the
# abstract ones at its top level, for annotations).
from azure.functions.blob import InputStream
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest


class Context(func.Context):
    def __init__(self, name, directory):
        self._id = str(uuid.uuid4())
        self._name = name
        self._dir = directory
        self._tls = threading.local()

    @property
    def invocation_id(self):
        return self._id

    @property
    def function_name(self):
        return self._name

    @property
    def function_directory(self):
        return self._dir

    @property
    def thread_local_storage(self):
        return self._tls

    @property
    def trace_context(self):
        return None

    @property
    def retry_context(self):
        return None


class Recorder(logging.Handler):
    """Remembers what the shim reports as an error (a raising HTTP handler
    becomes a 502 response, as behind API Gateway)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def http_request(event):
    if event.get("version") == "2.0" or "rawPath" in event:
        return http_request_v2(event)
    query = event.get("multiValueQueryStringParameters") or {
        k: [v] for k, v in (event.get("queryStringParameters") or {}).items()
    }
    qs = urllib.parse.urlencode([(k, v) for k, vs in query.items() for v in vs])
    url = "http://localhost" + (event.get("path") or "/") + ("?" + qs if qs else "")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return func.HttpRequest(
        method=event.get("httpMethod", "GET"),
        url=url,
        headers=headers,
        params={k: v[-1] for k, v in query.items()},
        route_params=event.get("pathParameters") or {},
        body=request_body(event),
    )


def http_request_v2(event):
    """The request an HTTP API payload format 2.0 event stands for, as Azure
    would deliver it: the method from ``requestContext.http.method`` (else
    the ``routeKey``), the path from ``rawPath`` without the ``/{stage}``
    prefix an HTTP API stage other than ``$default`` adds, the query from
    ``rawQueryString``, and ``cookies`` back as one ``Cookie`` header."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    route_key = event.get("routeKey") or context.get("routeKey") or ""
    method = http.get("method") or route_key.partition(" ")[0]
    if not method or method in ("ANY", "$default"):
        method = "GET"
    path = event.get("rawPath") or http.get("path") or "/"
    stage = context.get("stage") or "$default"
    prefix = "/" + stage
    if stage != "$default" and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix):] or "/"
    qs = event.get("rawQueryString")
    if qs is None:
        qs = urllib.parse.urlencode(
            [(k, v) for k, vs in (event.get("queryStringParameters") or {}).items() for v in vs.split(",")]
        )
    url = "http://localhost" + path + ("?" + qs if qs else "")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    cookies = [c for c in (event.get("cookies") or []) if c]
    if cookies:
        headers["cookie"] = "; ".join(cookies)
    params = {}
    for k, v in urllib.parse.parse_qsl(qs, keep_blank_values=True):
        params[k] = v
    return func.HttpRequest(
        method=method.upper(),
        url=url,
        headers=headers,
        params=params,
        route_params=event.get("pathParameters") or {},
        body=request_body(event),
    )


def request_body(event):
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def http_payload(response):
    """The Azure response as fnctl reports an HTTP answer: status, headers
    (a header sent several times, such as the ``Set-Cookie`` of each cookie
    a payload 2.0 result sets, keeps its first value there and lists every
    value under ``multiValueHeaders``), and the body (base64 when not
    UTF-8)."""
    body = response.get_body()
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode("ascii"), True
    headers, multi = {}, {}
    for k, v in response.headers.items():
        headers.setdefault(k, v)
        multi.setdefault(k, []).append(v)
    payload = {
        "statusCode": response.status_code,
        "headers": headers,
        "body": text,
        "isBase64Encoded": is_b64,
    }
    repeated = {k: v for k, v in multi.items() if len(v) > 1}
    if repeated:
        payload["multiValueHeaders"] = repeated
    return payload


def blob_stream(event):
    s3 = event["Records"][0]["s3"]
    key = urllib.parse.unquote_plus(s3["object"]["key"])
    name = "%s/%s" % (s3["bucket"]["name"], key)
    return InputStream(
        data=b"",
        name=name,
        length=s3["object"].get("size", 0),
        uri="http://127.0.0.1:10000/devstoreaccount1/" + urllib.parse.quote(name),
    )


def queue_message(event):
    """The QueueMessage the Python worker builds for one Storage queue
    message, from the one SQS record fnctl hands each run: the record's
    body, messageId, receiptHandle (as the pop receipt),
    ApproximateReceiveCount (as the dequeue count) and SentTimestamp (as the
    insertion time); the adapter turns it back into that record."""
    record = event["Records"][0]
    attributes = record.get("attributes") or {}
    sent_ms = attributes.get("SentTimestamp")
    inserted = (
        datetime.datetime.fromtimestamp(int(sent_ms) / 1000, datetime.timezone.utc)
        if sent_ms
        else None
    )
    body = record.get("body")
    if not isinstance(body, str):
        body = json.dumps(body)
    return QueueMessage(
        id=record.get("messageId") or str(uuid.uuid4()),
        body=body.encode("utf-8"),
        pop_receipt=record.get("receiptHandle"),
        dequeue_count=int(attributes.get("ApproximateReceiveCount") or 1),
        insertion_time=inserted,
    )


def main():
    app_dir, function, result_file = sys.argv[1:4]
    event = json.load(sys.stdin)
    sys.path.insert(0, app_dir)
    recorder = Recorder()
    logging.getLogger("fnctl").addHandler(recorder)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    directory = os.path.join(app_dir, function)
    try:
        spec = importlib.util.spec_from_file_location(
            "__app__." + function.replace("-", "_"), os.path.join(directory, "__init__.py")
        )
        entry = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(entry)
        with open(os.path.join(directory, "function.json")) as fh:
            trigger = json.load(fh)["bindings"][0]["type"]
        ctx = Context(function, directory)
        if trigger == "httpTrigger":
            payload = http_payload(entry.main(http_request(event), ctx))
        elif trigger == "queueTrigger":
            # One message per run, as the host hands them; a raise (the
            # adapter raises for batchItemFailures naming the message) fails
            # it.
            payload = entry.main(queue_message(event), ctx)
        elif trigger == "blobTrigger":
            payload = entry.main(blob_stream(event), ctx)
        else:
            payload = entry.main(TimerRequest(past_due=False), ctx)
        result = {"payload": payload}
        if recorder.messages:
            result["error"] = {"errorType": "HandlerError", "errorMessage": recorder.messages[0]}
    except Exception as e:  # the handler raised (blob, timer) or failed to load
        traceback.print_exc()
        result = {"error": {"errorType": type(e).__name__, "errorMessage": str(e)}}
    with open(result_file, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
