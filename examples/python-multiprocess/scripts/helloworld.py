print("helloworld")
