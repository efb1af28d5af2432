"""Federation: the change feed every instance serves and the pulls a higher instance makes from its peers."""
