"""MDT forums, meetings, agenda, summary and actions."""
