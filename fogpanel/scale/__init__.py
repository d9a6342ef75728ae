"""Scale-out over Redis: one room history and one leader for many processes and hosts."""
