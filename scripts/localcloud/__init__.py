"""The local cloud: moto in server mode plus the AWS behaviour moto lacks."""
