"""Operating the server: structured logs with a request id (``logs.py``) and the operators' ``/metrics``
(``metrics.py``). docs/deploy.md says how a deployment uses them."""
