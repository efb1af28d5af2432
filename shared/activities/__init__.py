"""Activities that happened: screenings, performances, trainings, reading events, mobile services …"""
