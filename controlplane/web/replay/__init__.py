"""The replay page's reads: who may replay a session (access), its timeline of statements,
verdicts, HTTP requests and model calls (timeline), its terminal recording as asciicast v2
(cast), and the inclusion proofs that let the browser check each event against the latest
signed checkpoint (proofs). Everything is read from the session's audit events."""
