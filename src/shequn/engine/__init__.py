"""The engine: every event passes through the playbook's modules, which change state and emit actions."""
