return "pipeline"
