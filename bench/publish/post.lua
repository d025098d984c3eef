-- wrk: POST one event per request to /publish (no id: every request is a new event).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"topic":"bench.http","key":"k","payload":{"host":"alpha","cpu_pct":12.5,"mem_mb":512}}'
