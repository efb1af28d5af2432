"""The facility registry: libraries, cultural centres, stations, grassroots centres, 农家书屋 …"""
