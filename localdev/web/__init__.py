"""The local Slack page (index.html, app.js), served by localdev.local_slack."""
