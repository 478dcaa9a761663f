"""ocrfn's own server for the ``ocr`` function: gunicorn with a worker that slow clients cannot starve.

``python -m function.server`` serves exactly the app ``functions-framework --target ocr`` builds (the same
Flask app, the same handler) with one gunicorn worker whose request threads only ever see requests whose
request line and headers have fully arrived, probes answered from threads of their own, bounded header
and body times, and a drain on SIGTERM that answers what it does not finish (see :mod:`.worker`).
"""
