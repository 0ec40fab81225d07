"""`make bench`: the thumbnail engine, cold starts and the pipeline end to end, as figures."""
