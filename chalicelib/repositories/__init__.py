"""Repositories: the only code that touches PynamoDB/boto3. They return domain objects."""
