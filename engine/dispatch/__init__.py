"""Moving messages from the lanes through the router to the channels, with failover."""
