"""image_search: find pictures in your own collections by words or by an example picture."""
