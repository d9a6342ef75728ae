"""``POST /api/ingest`` (agents) and ``POST /api/sim/incidents`` (admins): facts coming in.

Ingest needs a token with ``"role": "agent"`` (or admin). A batch with invalid reports gets 400
listing each bad field; its valid reports are stored all the same (``accepted`` says how many).
Bodies over ``ingest_max_bytes`` get 413 before they are parsed. The answer is sent once the
reports' samples are committed to the history store, so an acknowledged report survives a crash.
"""

from __future__ import annotations

import time

from redis.exceptions import RedisError

from fogpanel import errors
from fogpanel.server.http import JsonHandler
from fogpanel.sources.incidents import KINDS
from fogpanel.sources.ingest import validate_batch

__all__ = ["IncidentHandler", "IngestHandler"]


class IngestHandler(JsonHandler):
    """Agents report their devices' metrics here."""

    def prepare(self) -> None:
        limit = self.services.settings.ingest_max_bytes
        declared = self.request.headers.get("Content-Length")
        if (declared is not None and declared.isdigit() and int(declared) > limit) \
                or len(self.request.body) > limit:
            raise errors.PayloadTooLarge(f"the body is larger than {limit} bytes")

    async def post(self) -> None:
        claims = self.claims()
        if not (claims.role == "agent" or claims.admin):
            raise errors.Forbidden("ingest needs a token with the agent role")
        if self.services.cluster.agents is None:
            raise errors.NotFound("the agents source is not enabled on this server")
        body = self.json_body(required=True)
        s = self.services.settings
        reports, problems = validate_batch(body, now=time.time(),
                                           max_future=s.ingest_max_future,
                                           max_age=s.ingest_max_age)
        relay = self.services.ingest_relay
        if reports and relay is not None and not self.services.leads():
            try:
                await relay.forward(reports, claims.sub)  # the leader records them
            except RedisError:
                raise errors.Overloaded("the leader cannot be reached; retry later") from None
        elif reports:
            # Answer only once the samples are committed: an acknowledged report is durable.
            await self.services.apply_reports(reports, claims.sub)
        result = {"accepted": len(reports), "rejected": len(problems), "errors": problems}
        if problems:
            self.send_json({"error": {"code": "bad_reports",
                                      "message": "some reports were refused; see errors"},
                            **result}, 400)
            return
        self.send_json(result)


class IncidentHandler(JsonHandler):
    """Admins inject a simulator incident now: ``{"kind": ..., "target"?: ...}``."""

    def post(self) -> None:
        if not self.claims().admin:
            raise errors.Forbidden("injecting incidents needs an admin token")
        sim = self.services.cluster.simulator
        if sim is None:
            raise errors.NotFound("the simulator is not enabled on this server")
        body = self.json_body(required=True)
        kind, target = body.get("kind"), body.get("target")
        if kind not in KINDS:
            raise errors.BadMessage(f"'kind' must be one of {', '.join(sorted(KINDS))}")
        if target is not None and not isinstance(target, str):
            raise errors.BadMessage("'target' must be a string")
        try:
            inc = sim.trigger(kind, target, now=time.time())
        except ValueError as exc:
            raise errors.BadMessage(str(exc)) from None
        self.send_json({"id": inc.id, "kind": inc.kind, "target": inc.target,
                        "label": inc.label, "ends_in_s": round(inc.ends - inc.started, 1)})
