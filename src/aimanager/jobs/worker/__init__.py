"""The worker: its slots (``slots``), acks and lease renewals (``acks``), lease recovery
(``maintenance``), tuning (``config``) and the run loop that ties them (``loop``)."""
