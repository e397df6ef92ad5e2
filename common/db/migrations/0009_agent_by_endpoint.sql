-- A call answered on a desk phone while nobody had the agent screen open was recorded with no
-- account: the QA desk could not score it and its agent could not open it. From now on the
-- record writer names the endpoint's only account (common/records/facts.py, "agent"); the
-- calls recorded before this get it the same way, from the accounts as they are now.
UPDATE call_agents a SET username = owner.username
FROM (SELECT endpoint, min(username) AS username FROM account_endpoints
      GROUP BY endpoint HAVING count(*) = 1) owner
WHERE a.username IS NULL AND a.endpoint = owner.endpoint;
