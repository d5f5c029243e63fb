# Figures rendered by papermill notebooks (issue 4).
