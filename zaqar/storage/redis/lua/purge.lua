-- Delete every message and claim of the queue (Scripts.purge).
clear_queue(Q)
return 0
