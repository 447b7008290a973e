"""Stand-ins for what tests cannot reach (Claude, Slack, AWS), speaking the real protocols."""
