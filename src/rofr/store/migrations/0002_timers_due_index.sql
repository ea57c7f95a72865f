-- due_timers asks "due <= now, ordered by due then timer_id" on every tick: serve it from an
-- index instead of a scan and a sort of every pending timer.
CREATE INDEX timers_due ON timers (due, timer_id);
