-- wrk: POST one event per request to /publish, with a W3C trace context header as a traced
-- service sends it (no id: every request is a new event).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"topic":"bench.http","key":"k","headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},"payload":{"host":"alpha","cpu_pct":12.5,"mem_mb":512}}'
