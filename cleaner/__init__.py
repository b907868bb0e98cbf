"""cleaner: strip publisher noise (appeals, paywall counters, share prompts...) from news text."""

from .api import Cleaner
from .errors import CleanerError
from .report import Report
from .rules import Rule, load_library, load_rules, select_rules

__all__ = ["Cleaner", "CleanerError", "Report", "Rule", "load_library", "load_rules", "select_rules"]
__version__ = "0.1.0"
