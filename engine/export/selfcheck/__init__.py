"""The self-check web page (`--format html`): one offline HTML file where students answer and get feedback."""
