"""One picture both ways, and one prompt two ways: the multimodal part's and the warm-up's pairs."""
