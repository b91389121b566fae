"""The embedded local AWS endpoint: moto's control plane plus a data plane that runs what was deployed.

`app.start` composes the pieces: Lambda invocations run moto's stored code through lambdafleet.runtime
(`fleet`), asynchronously with retries and destinations (`async_invoke`, `destinations`), HTTP APIs are
served from their deployed routes (`http_api`), S3 notifications invoke functions (`s3_events`), and every
invocation's logs land in moto's CloudWatch Logs (`cloudwatch`).
"""
