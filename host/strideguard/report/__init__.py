"""The post-run report, the trend report and the one-page episode summary.

Each is one self-contained HTML file (styles inline, plots embedded as SVG
images from matplotlib) that opens in any browser and can be sent to a coach or
physio; ``--pdf`` prints it with Chromium when installed.

============  ====================================================
``plots``     matplotlib figures as embeddable SVG
``texts``     plain-language explanations and the "what to do" rules
``page``      HTML building blocks and the shared style
``run``       the report of one run
``trend``     weekly trends and the return-to-run review
``episode``   the one-page summary for a doctor's appointment
``pdf``       printing a report with headless Chromium
============  ====================================================
"""
