import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncsvc.settings")
application = get_wsgi_application()
# What start-up made lives as long as the process: out of the collector's reach, a full
# collection no longer walks it (it was ~87 ms of a page's CPU once in 20 requests at figure
# 3's size, bench/README), and forked server processes keep sharing those pages.
gc.freeze()
