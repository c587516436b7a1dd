"""Answer groups and ACD queues: agents, dispatch, wrap-up, callback (live part built in issue 4)."""
