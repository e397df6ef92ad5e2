-- Fewer row versions per call while its record is written (scripts/bench.sh --records measures
-- the pop latency with and without record writing on the same machine).

-- The QA agent of a call changes only when an agent row's account or answer time does, and the
-- record is rewritten only when the agent it names is not the one already there: the rang /
-- answered / left updates of every leg no longer each rewrite the whole record (and its nine
-- index entries).
CREATE OR REPLACE FUNCTION qa_set_call_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_records r SET agent_username = chosen.username
    FROM (SELECT (SELECT a.username FROM call_agents a
                  WHERE a.call_id = NEW.call_id AND a.username IS NOT NULL
                  ORDER BY (a.answered_at IS NOT NULL) DESC, a.position DESC LIMIT 1)
                 AS username) chosen
    WHERE r.call_id = NEW.call_id AND r.agent_username IS DISTINCT FROM chosen.username;
    RETURN NULL;
END $$;
DROP TRIGGER call_agents_qa_agent ON call_agents;
CREATE TRIGGER call_agents_qa_agent AFTER INSERT ON call_agents
    FOR EACH ROW WHEN (NEW.username IS NOT NULL) EXECUTE FUNCTION qa_set_call_agent();
CREATE TRIGGER call_agents_qa_agent_changed AFTER UPDATE ON call_agents
    FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username
                       OR OLD.answered_at IS DISTINCT FROM NEW.answered_at)
    EXECUTE FUNCTION qa_set_call_agent();

-- Room on each page for a record's next versions while its call goes on, so they can stay on
-- the page without touching the indexes (HOT updates; for pages written from now on).
ALTER TABLE call_records SET (fillfactor = 80);
ALTER TABLE call_agents SET (fillfactor = 80);
