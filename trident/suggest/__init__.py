"""`trident generate`: a trained student writes assertions into a user's Java tests.

targets.py finds where assertions go in the test files (placeholders, or after the last
statement of a test that asserts nothing); linking.py maps each test to its focal method with
the miner's own rules and builds the record the model reads; model.py loads a run, a model
folder or an export; suggestions.py generates with log-probabilities; edits.py puts the chosen
suggestion into the file (diff, atomic write with a backup); command.py is the command.
"""
