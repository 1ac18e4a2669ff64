"""The home page: a team's morning glance (jobs running and waiting, recent results, models, datasets, disk use,
the workers and their queues). No models of its own."""
