"""Commands for operators, run from a clone with AWS credentials: ``python -m operate status --instance ARN``.

Not part of the Lambda function: nothing in the handler imports this package, and its one extra
dependency (rich, for the terminal view) is in requirements-dev.txt, not in src/handler/requirements.txt.
"""
