"""Human play in the browser (`python -m ada.play`), recorded for evaluation and prompting."""
