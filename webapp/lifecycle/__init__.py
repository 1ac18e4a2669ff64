"""One lifecycle for every kind of background work: the registry (registry.py, plain data), the writes every kind
shares (services.py: claim, beat, succeed, fail, cancel, reap), and enqueue() (tasks sent by name: the web app
never imports workers). The row's fields are webapp.core.models.Work."""
