"""The sync: a batch of Mobilize records planned, then written to PDI by the writers, with
recovery, dead letters and counts.
"""
