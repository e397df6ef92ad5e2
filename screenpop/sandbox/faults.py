"""Fault injection: what the next requests to the sandbox answer instead of the real thing."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

FAULT_KINDS = ("html_521", "stall", "403", "500", "429", "cloudflare", "html_200", "layout",
               # write-back: act then stall the answer; drop a form field; refuse the CSRF token;
               # end the next background task in FAILURE
               "stall_after", "form_changed", "csrf_stale", "task_failure",
               # a document upload redirects as on success but with an error message, unsaved
               "document_refused",
               # a proxy hands the request on, the write takes effect, the proxy answers 502
               "502_after")


@dataclass
class Fault:
    kind: str
    scope: str = "any"
    count: int | None = None      # None = until cleared
    seconds: float | None = None  # stall: None = until released
    path: str | None = None       # only requests whose path starts with this
    method: str | None = None     # only requests with this method ("POST")

    def applies(self, area: str, path: str, method: str) -> bool:
        if self.scope not in ("any", area):
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or path.startswith(self.path)


class Faults:
    def __init__(self) -> None:
        self._active: list[Fault] = []
        self._release = asyncio.Event()

    def add(self, kind: str, *, scope: str = "any", count: int | None = None,
            seconds: float | None = None, path: str | None = None,
            method: str | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if scope not in ("api", "panel", "any"):
            raise ValueError(f"unknown scope {scope!r}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        self._active.append(Fault(kind, scope, count, seconds, path,
                                  method.upper() if method else None))

    def clear(self) -> None:
        self._active.clear()
        self.release_stalls()

    def release_stalls(self) -> None:
        """Let every stalled request go on (they then answer normally)."""
        self._release.set()
        self._release = asyncio.Event()

    def take(self, area: str, path: str, *, kinds: tuple[str, ...] = FAULT_KINDS,
             method: str = "GET") -> Fault | None:
        """The fault that hits this request, using up one of its count."""
        for fault in self._active:
            if fault.kind in kinds and fault.applies(area, path, method):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._active.remove(fault)
                return fault
        return None

    async def stall(self, fault: Fault) -> None:
        release = self._release
        if fault.seconds is None:
            await release.wait()
            return
        try:
            await asyncio.wait_for(release.wait(), fault.seconds)
        except TimeoutError:
            pass
