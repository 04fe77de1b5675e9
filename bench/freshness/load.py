"""The background load of figure 6, what a demo organisation does beside the measured changes:
a bulk re-sync in a loop, other users' edits, and the emulator's latency drawn anew every 0.25 s;
each a thread, reported at the end."""

from __future__ import annotations

import datetime
import random
import threading
import time

from bench.harness import log, runs_finished


class Background:
    """Threads for the demo's load and the emulator's latency range; stop() joins them."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.bulk_runs = 0
        self.bulk_records = 0
        self.edits = 0

    def start(self, name: str, target) -> None:
        def run() -> None:
            from django.db import connection

            try:
                target()
            except Exception as error:  # noqa: BLE001 - reported at the end, the run goes on
                self.errors.append(f"{name}: {error!r}")
                log(f"background {name} stopped: {error!r}")
            finally:
                connection.close()

        thread = threading.Thread(target=run, daemon=True, name=name)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def bulk_loop(self, setup, document_ids: list[int]) -> None:
        """One bulk re-sync at a time, the next as soon as the last one finished."""
        from synclog import services

        while not self.stop_event.is_set():
            runs = services.bulk_resync(org=setup.org, document_ids=document_ids, actor=setup.user)
            self.bulk_runs += 1
            self.bulk_records += sum(run.total for run in runs)
            run_ids = [run.pk for run in runs]
            # Wait for it even when asked to stop: the census wants it finished.
            while not runs_finished(run_ids):
                time.sleep(0.5)

    def edit_loop(self, setup, document_ids: list[int], every: float) -> None:
        from documents import services as document_services
        from documents.models import Document

        index = 0
        while not self.stop_event.wait(every):
            document = Document.objects.get(pk=document_ids[index % len(document_ids)])
            document_services.document_update(
                document=document,
                actor=setup.user,
                data={"due_date": document.due_date + datetime.timedelta(days=1)},
            )
            self.edits += 1
            index += 1

    def latency_loop(self, emulator, low_ms: float, high_ms: float, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop_event.is_set():
            emulator.set_faults(latency_ms=round(rng.uniform(low_ms, high_ms)))
            self.stop_event.wait(0.25)
