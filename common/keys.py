"""Every Redis key and channel name used by the project, in one place.

All names live under one prefix (``sp`` by default) so several deployments can share a Redis.
Live call state expires; the index is swapped atomically on each sync (see screenpop.index).
"""
from __future__ import annotations

from dataclasses import dataclass

CALL_STATE_TTL_SECONDS = 6 * 3600
ENDED_CALL_TTL_SECONDS = 120


@dataclass(frozen=True)
class Keys:
    prefix: str = "sp"

    # --- telephony → screenpop call bus -------------------------------------------------------
    @property
    def calls_channel(self) -> str:
        """Pub/sub channel carrying every call envelope (common.envelope.CallUpdate JSON)."""
        return f"{self.prefix}:bus:calls"

    def call(self, call_id: str) -> str:
        """String: the latest CallUpdate JSON of one call (expires)."""
        return f"{self.prefix}:call:{call_id}"

    def endpoint_calls(self, endpoint: str) -> str:
        """Set of call ids currently alerting or connected at an agent endpoint (expires)."""
        return f"{self.prefix}:endpoint:{endpoint}:calls"

    def telephony_live_calls(self, node: str) -> str:
        """Set of the call ids a telephony node last published as live (ringing or answered),
        so a restarted node can end the ones Asterisk no longer has (expires)."""
        return f"{self.prefix}:telephony:{node}:live-calls"

    def telephony_heartbeat(self, node: str) -> str:
        """String with the listener's AMI state, refreshed while the listener runs (expires)."""
        return f"{self.prefix}:telephony:{node}:heartbeat"

    # --- preinstallation index (owned by screenpop.index) ---------------------------------------
    @property
    def index_phones(self) -> str:
        """Hash: E.164 number → JSON list of preinstallation ids."""
        return f"{self.prefix}:index:phones"

    @property
    def index_records(self) -> str:
        """Hash: preinstallation id → JSON record."""
        return f"{self.prefix}:index:records"

    @property
    def index_installed(self) -> str:
        """Hash: id of an indexed record that is an installation now → JSON {reference, at}."""
        return f"{self.prefix}:index:installed"

    @property
    def index_meta(self) -> str:
        """Hash: last sync time, count, source, last error."""
        return f"{self.prefix}:index:meta"

    def index_staging(self, name: str, token: str) -> str:
        """Temporary keys a sync fills before renaming them over the live ones."""
        return f"{self.prefix}:index:staging:{token}:{name}"

    @property
    def index_sync_lock(self) -> str:
        return f"{self.prefix}:index:sync-lock"

    @property
    def number_links(self) -> str:
        """Hash: E.164 number → preinstallation id the agent chose for it (remembered)."""
        return f"{self.prefix}:links:numbers"

    def call_link(self, call_id: str) -> str:
        """String: preinstallation id the agent linked to this call."""
        return f"{self.prefix}:call:{call_id}:link"

    # --- accounts and sessions (owned by screenpop.web) --------------------------------------------
    # The accounts themselves are in PostgreSQL since migration 0004; `user` and `users` are where
    # earlier versions kept them, read only by `screenpop users migrate-from-redis`.
    def user(self, username: str) -> str:
        """Hash (earlier versions): password_hash, role, endpoints (JSON list), display_name."""
        return f"{self.prefix}:user:{username}"

    @property
    def users(self) -> str:
        """Set of usernames (earlier versions)."""
        return f"{self.prefix}:users"

    def endpoint_agents(self, endpoint: str) -> str:
        """Set of usernames mapped to an endpoint (earlier versions; no longer read)."""
        return f"{self.prefix}:endpoint:{endpoint}:agents"

    def session(self, session_id: str) -> str:
        """Hash: username, csrf token; expires with the session."""
        return f"{self.prefix}:session:{session_id}"

    def user_sessions(self, username: str) -> str:
        """Set of the account's session ids, so a removal or a new password ends them all
        (expires with the longest session; ids of expired sessions are harmless)."""
        return f"{self.prefix}:user:{username}:sessions"

    def login_throttle(self, username: str, address: str) -> str:
        """Hash: failures, until (epoch ms) of sign-ins to one account from one client address
        (expires); see screenpop.web.throttle."""
        return f"{self.prefix}:login-throttle:{username}:{address}"

    def login_throttle_address(self, address: str) -> str:
        """Hash: failures, until (epoch ms) of sign-ins from one client address to any account
        (expires)."""
        return f"{self.prefix}:login-throttle-address:{address}"

    # --- push to browsers ---------------------------------------------------------------------
    def agent_channel(self, username: str) -> str:
        """Pub/sub channel with the messages for one agent, forwarded by whichever node holds
        that agent's sockets."""
        return f"{self.prefix}:bus:agent:{username}"

    # --- appended by screenpop.web ------------------------------------------------------------
    @property
    def accounts_channel(self) -> str:
        """Pub/sub channel announcing account changes (payload: username), so web nodes drop
        their copy of the accounts directory and their cached endpoint → agents mapping."""
        return f"{self.prefix}:bus:accounts"

    # --- appended by screenpop.script ---------------------------------------------------------
    def call_progress(self, call_id: str) -> str:
        """Hash: the guided script's step and captured answers of one call (expires after
        30 days; see screenpop.script.progress)."""
        return f"{self.prefix}:call:{call_id}:progress"

    # --- appended by the agent screen (screenpop.agents, screenpop.push.acks) -------------------
    def agent_state(self, username: str) -> str:
        """Hash: one agent's state for supervisors and the dialer (screenpop.agents.AgentState):
        state (offline|available|paused|in_call|wrap_up), reason, since, call_id, customer,
        wrap_until, unreachable (0/1), unreachable_call, unreachable_at, updated_at. No TTL."""
        return f"{self.prefix}:agent:{username}:state"

    @property
    def agent_states(self) -> str:
        """Set of usernames that have an agent_state hash."""
        return f"{self.prefix}:agents:states"

    @property
    def agent_states_channel(self) -> str:
        """Pub/sub channel: the full AgentState JSON after every change of any agent."""
        return f"{self.prefix}:bus:agent-states"

    @property
    def wrapup_deadlines(self) -> str:
        """Sorted set: username → epoch seconds when the agent's wrap-up ends."""
        return f"{self.prefix}:agents:wrapup-deadlines"

    def call_acks(self, call_id: str) -> str:
        """Hash: username → highest pop seq of the call a browser of that agent acknowledged."""
        return f"{self.prefix}:call:{call_id}:acks"

    def call_ack_watches(self, call_id: str) -> str:
        """Hash: username → 1 once a node has taken on checking that agent's ack of the call (one
        node per agent and call, whether or not any node holds a browser of the agent)."""
        return f"{self.prefix}:call:{call_id}:ack-watches"

    def call_agents(self, call_id: str) -> str:
        """Hash: username → epoch seconds when that agent answered the call (30 days)."""
        return f"{self.prefix}:call:{call_id}:agents"

    def call_holders(self, call_id: str) -> str:
        """String: JSON list of the endpoints that held the call last (answered legs of its
        latest update that had one), so its holder keeps acting on it after the call's own state
        expires (30 days; see screenpop.calls.access)."""
        return f"{self.prefix}:call:{call_id}:holders"

    def call_record(self, call_id: str) -> str:
        """String: id of the preinstallation the call's script was rendered for (30 days)."""
        return f"{self.prefix}:call:{call_id}:record"

    # --- appended by the WispHub write-back (screenpop.operations) ------------------------------
    def operation(self, call_id: str, op_id: str) -> str:
        """Hash: one write to WispHub for a call (state, params, reference, reason…; 30 days)."""
        return f"{self.prefix}:call:{call_id}:op:{op_id}"

    def call_operations(self, call_id: str) -> str:
        """Sorted set: op ids of a call by creation time (30 days)."""
        return f"{self.prefix}:call:{call_id}:ops"

    def operation_lock(self, record: str, op_id: str) -> str:
        """String: token of the one task writing this operation to this WispHub record now,
        whichever call asked for it; outlives an unknown outcome by the in-flight wait (expires)."""
        return f"{self.prefix}:wisphub:{record}:op:{op_id}:lock"

    @property
    def operations_attention(self) -> str:
        """Sorted set: "<call_id> <op_id>" → epoch seconds, operations a capped loop gave up on
        that a person must resolve in WispHub (removed when resolved)."""
        return f"{self.prefix}:ops:attention"

    def operation_blob(self, call_id: str, op_id: str) -> str:
        """String: the file bytes of a document upload still to send (expires)."""
        return f"{self.prefix}:call:{call_id}:op:{op_id}:blob"

    @property
    def operations_outbox(self) -> str:
        """Sorted set: "<call_id> <op_id>" → epoch seconds when the outbox worker looks at it."""
        return f"{self.prefix}:ops:outbox"

    def call_audit(self, call_id: str) -> str:
        """List: JSON audit entries of every write to WispHub made for the call (30 days)."""
        return f"{self.prefix}:call:{call_id}:audit"

    def call_write_target(self, call_id: str) -> str:
        """String: JSON of the preinstallation the call's WispHub writes go to, kept after it
        leaves the pending list (30 days)."""
        return f"{self.prefix}:call:{call_id}:write-target"

    # --- appended by the IVR (telephony.ivr.callback) -------------------------------------------
    def callback_requests(self, queue: str) -> str:
        """Sorted set: callers who left `queue` asking to be called back. Member: request JSON
        (number, preinstallation_id, call_id, queue, requested_at); score: epoch seconds when the
        caller joined the queue, i.e. their place in line. Consumed by the dialer."""
        return f"{self.prefix}:callbacks:{queue}"

    @property
    def callbacks_channel(self) -> str:
        """Pub/sub channel: a queue's name each time its callbacks changed (a request stored,
        dialled, put back or finished), so supervisor pages read the list again at once."""
        return f"{self.prefix}:bus:callbacks"

    # --- the dialer: engine (telephony.dialer) ↔ campaign pages and agent screen (screenpop) -----
    @property
    def dialer_control_channel(self) -> str:
        """Pub/sub channel: a campaign id whose state or settings changed (published by the
        campaign pages; every dialer engine re-reads that campaign at once)."""
        return f"{self.prefix}:bus:dialer-control"

    @property
    def dialer_live_channel(self) -> str:
        """Pub/sub channel: JSON live figures of one campaign (campaign_id, name, in_flight,
        dial_ratio, agents_available, agents_reserved, agents_on_call, answer_rate,
        abandon_rate_30d, last_error, updated_at), published by the engine on change."""
        return f"{self.prefix}:bus:dialer-live"

    def dialer_live(self, campaign_id: str) -> str:
        """Hash: the latest live figures of one campaign (same fields as dialer_live_channel;
        expires when no engine refreshes it). The agent screen reads the campaign's `name`
        here for the pops of its calls."""
        return f"{self.prefix}:dialer:campaign:{campaign_id}:live"

    def dialer_offer(self, username: str) -> str:
        """Hash: the preview offer on an agent's screen (attempt_id, campaign_id, campaign_name,
        preinstallation_id, phone, worker, offered_at); expires with the offer."""
        return f"{self.prefix}:dialer:offer:{username}"

    @property
    def dialer_offers_channel(self) -> str:
        """Pub/sub channel: {"username": …, "offer": {…} | null} when an agent's preview offer
        appears or is withdrawn."""
        return f"{self.prefix}:bus:dialer-offers"

    def dialer_commands(self, worker: str) -> str:
        """List: JSON {"attempt_id", "action": "call"|"skip", "by"} the agent screen pushes for
        the dialer engine `worker` that holds the attempt (expires)."""
        return f"{self.prefix}:dialer:commands:{worker}"

    @property
    def dialer_agents_freed_channel(self) -> str:
        """Pub/sub channel: the username whose dialer reservation was just released (published
        by the release itself), so every engine, not only the one that held the agent, offers
        that agent the next call at once."""
        return f"{self.prefix}:bus:dialer-agents-freed"

    def dialer_agent_reservation(self, username: str) -> str:
        """String: the attempt id an engine reserved this agent for, from claim until the call
        ends (expires), so two engines never give one agent two calls."""
        return f"{self.prefix}:dialer:agent:{username}:reserved"

    # --- appended by the call's result on the agent screen (screenpop.wrapup) -------------------
    @property
    def dispositions_pending(self) -> str:
        """Sorted set: call id → epoch seconds of the next try to apply the call's saved
        disposition to its dialer lead (saved while the campaign still had the lead in
        'dialing', i.e. during the call); see screenpop.wrapup.pending."""
        return f"{self.prefix}:wrapup:pending"

    @property
    def dispositions_pending_data(self) -> str:
        """Hash: call id → JSON of the disposition still to apply to its lead (attempt_id,
        disposition, effect, callback_at, callback_for, by, saved_at)."""
        return f"{self.prefix}:wrapup:pending-data"

    # --- appended by the queue callbacks (telephony.dialer.queue_callbacks) ---------------------
    @property
    def callback_queues(self) -> str:
        """Set of queue names that ever had a callback request (the FastAGI `callback` script
        adds the queue with each request), so the supervisor page knows which queues to list."""
        return f"{self.prefix}:callbacks:queues"

    def callbacks_processing(self, queue: str) -> str:
        """Hash: request JSON (a member taken from callback_requests) → JSON {"place", "worker",
        "lease_until"} while one telephony process dials it; a lease that runs out puts the
        request back in callback_requests at its place (no TTL: leases are checked each round)."""
        return f"{self.prefix}:callbacks:{queue}:processing"

    def callbacks_finished(self, queue: str) -> str:
        """Sorted set: JSON of finished callbacks (the request + outcome connected|failed,
        attempts, last_outcome, finished_at) → epoch seconds finished; the latest 200 are kept."""
        return f"{self.prefix}:callbacks:{queue}:finished"

    def dialer_campaign_pacer(self, campaign_id: str) -> str:
        """String: the dialer engine (worker name) that places a predictive campaign's calls
        beyond one per free agent, so two engines never both add them (expires; renewed by
        its holder at each step)."""
        return f"{self.prefix}:dialer:campaign:{campaign_id}:pacer"
