"""The playbook (运营手册): one validated YAML file that says how a community is run."""
