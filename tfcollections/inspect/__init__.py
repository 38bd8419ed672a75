"""Reading graphs and their collections: saved files without importing TensorFlow, scripts live."""
