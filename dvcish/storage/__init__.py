"""Every object byte: the stores (local folder, S3, memory, the cache) behind one interface,
the one key layout, and the verified reads and writes all of them share."""
