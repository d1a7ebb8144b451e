"""The assistant: profile sample files into specs, DDL for assets, plain-language patches."""
