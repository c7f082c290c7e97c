"""What a run produces and how it is read: Arrow tables, the console table, comparisons,
the HTML report and the asv history export."""
